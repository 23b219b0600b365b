// The demo's chapters, in the order `mainline demo` tells them. Add a chapter by adding a file and a line here.
import type { Chapter } from './chapter.js'
import { dhtLookup } from './dht-lookup.js'
import { holepunchChapter } from './holepunch.js'
import { runNetns } from './holepunch-netns.js'

export const CHAPTERS: Chapter[] = [dhtLookup, holepunchChapter]

/** With --netns the holepunch chapter runs across real network namespaces and Linux NAT instead (root only). */
export const NETNS_CHAPTERS: Chapter[] = [dhtLookup, { ...holepunchChapter, run: runNetns }]
