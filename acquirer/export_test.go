package acquirer

// SetStepHook sets the hook the crash test kills the process from (test
// builds only).
func SetStepHook(f func(step string)) { stepHook = f }
