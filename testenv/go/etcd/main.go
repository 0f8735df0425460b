// etcd, built from the library entry point that upstream's own binary uses.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"roost.dev/testenv/parentdeath"
)

func main() {
	parentdeath.Arm()
	etcdmain.Main(os.Args)
}
