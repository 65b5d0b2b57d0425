// SPDX-License-Identifier: Apache-2.0

//go:build !linux

package vpcd

import "net"

// quickAck is Linux-only (TCP_QUICKACK); elsewhere delayed ACKs stay.
func quickAck(net.Conn) {}
