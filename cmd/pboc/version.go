// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// cmdVersion implements "pboc version" (and pboc --version).
func cmdVersion(_ context.Context, e *env, args []string) error {
	f := newFlags(e, "version", "", `
Prints the module version this binary was built from (v1.2.3 for go
install github.com/go-pboc/pboc/cmd/pboc@v1.2.3; "(devel)" for a build in a
checkout), the VCS revision when the build recorded it, and the Go
version.`)
	if err := f.parseNoArgs(args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, versionLine())
	return nil
}

// versionLine is "pboc VERSION [REVISION] GO", from the build info.
func versionLine() string {
	version, rev := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = " " + s.Value
			case "vcs.modified":
				if s.Value == "true" && rev != "" {
					rev += "+dirty"
				}
			}
		}
	}
	return fmt.Sprintf("pboc %s%s %s", version, rev, runtime.Version())
}
