// The lab's peer process: the same program `mainline demo --netns` runs in each namespace.
await import('../../src/cli/demo/lab-peer.js')
