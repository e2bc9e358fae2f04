package db

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password limits.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 128
)

// argon2id parameters: OWASP's 19 MiB, two passes, one lane.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

//go:embed common_passwords.txt
var commonPasswordsText string

// Hasher hashes and checks passwords with argon2id. Each hash takes 19 MiB, so
// at most a fixed number run at once and the rest wait their turn: a flood of
// sign-ins queues instead of exhausting memory. When the last hash of a burst
// is done, the memory they took is handed back to the system (after
// returnAfter, so a steady trickle of sign-ins does not pay a collection
// each): a process that signed fifty people in at nine does not stay fifty
// hashes big all day.
type Hasher struct {
	slots  chan struct{}
	common map[string]bool

	mu       sync.Mutex
	inFlight int
	idle     *time.Timer
}

// returnAfter is how long hashing must have been idle before its memory is
// given back.
const returnAfter = 2 * time.Second

// NewHasher returns a hasher that runs at most concurrency hashes at once.
func NewHasher(concurrency int) *Hasher {
	if concurrency < 1 {
		concurrency = 1
	}
	h := &Hasher{slots: make(chan struct{}, concurrency), common: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			h.common[strings.ToLower(line)] = true
		}
	}
	return h
}

// ErrBusy is returned when no hashing slot frees up before ctx ends.
var ErrBusy = Errorf(EUNAVAILABLE, "The server is busy signing people in; please try again in a moment.")

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ErrBusy
	}
	h.mu.Lock()
	h.inFlight++
	if h.idle != nil {
		h.idle.Stop()
	}
	h.mu.Unlock()
	return nil
}

func (h *Hasher) release() {
	<-h.slots
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inFlight--
	if h.inFlight > 0 {
		return
	}
	if h.idle == nil {
		h.idle = time.AfterFunc(returnAfter, h.returnMemory)
	} else {
		h.idle.Reset(returnAfter)
	}
}

// returnMemory frees the hashes' memory to the system, unless hashing
// started again meanwhile.
func (h *Hasher) returnMemory() {
	h.mu.Lock()
	busy := h.inFlight > 0
	h.mu.Unlock()
	if !busy {
		debug.FreeOSMemory()
	}
}

// CheckPolicy returns a person-facing reason when password is unacceptable.
func (h *Hasher) CheckPolicy(username, password string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLen)
	case n > MaxPasswordLen:
		return fmt.Sprintf("Use at most %d characters.", MaxPasswordLen)
	case h.common[strings.ToLower(password)]:
		return "This password is among the most common ones; choose another."
	case username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)):
		return "The password must not contain the username."
	}
	return ""
}

// Hash returns an argon2id hash in the PHC string format.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("db: malformed password hash")

// Verify reports whether password matches the PHC-format hash.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil || mem > 256*1024 || t > 10 || p == 0 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
