// SPDX-License-Identifier: Apache-2.0

package purse

// SetPutHook sets the store's test hook (the crash test's kill points).
func SetPutHook(f func(step, path string)) { putHook = f }
