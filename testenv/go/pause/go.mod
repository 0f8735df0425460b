// The pause program of the real-node cluster (see testenv/nodes/pause-image.ts).
module roost.dev/testenv/pause

go 1.24.0
