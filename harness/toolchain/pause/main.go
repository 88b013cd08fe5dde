// Command pause holds a pod sandbox's namespaces open, as the pause image does.
//
// It is PID 1 of the sandbox: it sleeps until SIGINT or SIGTERM, and reaps every zombie
// re-parented to it (SIGCHLD), so processes that exit in a shared PID namespace do not linger.
// Written for spin-harness so node images need no pulled pause image.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is the pause image tag this build stands in for (set with -ldflags -X main.version=).
var version = "unknown"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Printf("pause.go (spin-harness) version: %s\n", version)
		return
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "Warning: pause should be the first process")
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		fmt.Fprintf(os.Stderr, "Shutting down, got signal: %v\n", sig)
		os.Exit(0)
	}
}
