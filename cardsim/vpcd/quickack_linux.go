// SPDX-License-Identifier: Apache-2.0

package vpcd

import (
	"net"
	"syscall"
)

// quickAck asks Linux to acknowledge the next segments at once instead of
// delaying the ACK (TCP_QUICKACK, which the kernel clears again by itself).
// vpcd writes each message as two segments (length, then payload); with
// Nagle's algorithm on its socket the payload waits for the ACK of the
// length, and a delayed ACK would cost 40 ms per APDU.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
