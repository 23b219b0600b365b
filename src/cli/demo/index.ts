// The demo's chapters, in the order `mainline demo` tells them. Add a chapter by adding a file and a line here.
import type { Chapter } from './chapter.js'
import { dhtLookup } from './dht-lookup.js'
import { holepunchChapter } from './holepunch.js'
import { magnetChapter } from './magnet.js'

export const CHAPTERS: Chapter[] = [dhtLookup, holepunchChapter, magnetChapter]
