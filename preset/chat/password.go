package chat

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with Argon2id (RFC 9106, golang.org/x/crypto/argon2)
// and a 16-byte random salt per account, kept as a PHC string
// ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash") so that the parameters can
// change without invalidating stored hashes. The parameters are OWASP's
// (19 MiB, two passes, one lane): 32 ms a hash on one core of the 2-core
// Xeon machines this chat is tested on (BenchmarkPasswordHash). At most
// hashSlots hashes run at once, so a burst of logins costs a bounded
// amount of memory and waits rather than piling up.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

var hashSlots = make(chan struct{}, max(2, runtime.NumCPU()))

var errBadHash = errors.New("chat: malformed password hash")

// passwordChecks counts password checks (each one Argon2id evaluation):
// tests read it to see that every failed login costs the same work.
var passwordChecks atomic.Int64

// hashPassword returns the PHC string of password with a fresh salt.
func hashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("chat: crypto/rand failed: " + err.Error())
	}
	hashSlots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	<-hashSlots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether password matches the PHC string phc, in
// time that does not depend on where they differ.
func checkPassword(password, phc string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, errBadHash
	}
	passwordChecks.Add(1)
	hashSlots <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	<-hashSlots
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when a login names no account, so that a
// wrong name and a wrong password take the same time.
var dummyHash = hashPassword("not a password anyone has")

// maxPasswordLen bounds what is hashed (bytes); minPasswordLen is the
// least a new account may set (runes).
const (
	maxPasswordLen = 1024
	minPasswordLen = 8
)
