package chat

// PasswordChecks is how many password checks (Argon2id evaluations) ran.
func PasswordChecks() int64 { return passwordChecks.Load() }
