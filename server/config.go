package server

import (
	"fmt"
	"time"

	"vouch/keys"
)

// Config is the key server's configuration. The zero value is not usable;
// start from [DefaultConfig].
type Config struct {
	// ServerName is the domain part of local user IDs.
	ServerName string `toml:"server_name"`
	// MaxBodyBytes caps request bodies; larger ones get 413 M_TOO_LARGE.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// MaxBackupBodyBytes caps request bodies of PUT /room_keys/keys… (key
	// backup uploads), which may carry many thousands of sessions.
	MaxBackupBodyBytes int64 `toml:"max_backup_body_bytes"`
	// Registration configures account creation.
	Registration RegistrationConfig `toml:"registration"`
	// RateLimit configures request rate limits.
	RateLimit RateLimitConfig `toml:"rate_limit"`
	// TrustedProxies lists the addresses and CIDR prefixes of reverse
	// proxies whose X-Forwarded-For header names the client for the
	// per-IP rate limit. Empty (the default): the header is ignored and
	// the connection's peer is the client.
	TrustedProxies []string `toml:"trusted_proxies"`
	// Argon2 sets the password hashing cost.
	Argon2 Argon2Config `toml:"argon2"`
	// MaxSyncTimeout caps the long-poll of /sync.
	MaxSyncTimeout Duration `toml:"max_sync_timeout"`
	// MaxSignaturesPerUpload caps the objects of one /keys/signatures/upload.
	MaxSignaturesPerUpload int `toml:"max_signatures_per_upload"`
	// MaxQueryUsers caps the users of one /keys/query or /keys/claim.
	MaxQueryUsers int `toml:"max_query_users"`
	// MaxOneTimeKeysPerUpload caps the one-time keys of one /keys/upload.
	MaxOneTimeKeysPerUpload int `toml:"max_one_time_keys_per_upload"`
	// MaxUnclaimedOneTimeKeys caps the unclaimed one-time keys one device
	// may hold (all algorithms together): an upload of new keys beyond it
	// is refused. Clients keep fewer than a hundred; the cap bounds what one
	// misbehaving device can make the server store.
	MaxUnclaimedOneTimeKeys int `toml:"max_unclaimed_one_time_keys"`
	// MaxToDeviceMessages caps the messages of one /sendToDevice.
	MaxToDeviceMessages int `toml:"max_to_device_messages"`
	// UIASessionLifetime is how long a user-interactive auth session may be
	// used after it was created. An older one is answered as an unknown
	// session, and the periodic sweep deletes it.
	UIASessionLifetime Duration `toml:"uia_session_lifetime"`
	// ToDeviceTxnRetention is how long a /sendToDevice transaction ID is
	// remembered: a retry within it is not delivered again; after it the
	// sweep may forget the ID, and a re-send is a new message.
	ToDeviceTxnRetention Duration `toml:"to_device_txn_retention"`
}

// RegistrationConfig configures account creation.
type RegistrationConfig struct {
	// Open enables POST /register with m.login.dummy. nil means "open only
	// when server_name is localhost".
	Open *bool `toml:"open"`
	// SharedSecret enables Synapse-compatible shared-secret registration at
	// /_synapse/admin/v1/register when not empty.
	SharedSecret string `toml:"registration_shared_secret"`
}

// RateLimitConfig is a token bucket per client IP and per user. A rate of
// zero disables that limit.
type RateLimitConfig struct {
	PerIPPerSecond   float64 `toml:"per_ip_per_second"`
	PerIPBurst       int     `toml:"per_ip_burst"`
	PerUserPerSecond float64 `toml:"per_user_per_second"`
	PerUserBurst     int     `toml:"per_user_burst"`
}

// Argon2Config is the argon2id cost. Tests use tiny values; production uses
// the defaults (RFC 9106's second recommended option, 64 MiB).
type Argon2Config struct {
	Time      uint32 `toml:"time"`
	MemoryKiB uint32 `toml:"memory_kib"`
	Threads   uint8  `toml:"threads"`
}

// Duration is a time.Duration written as "30s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// DefaultConfig returns the defaults: server name localhost, 1 MiB bodies
// (32 MiB for key-backup uploads), generous rate limits, argon2id t=3
// m=64MiB p=4, UIA sessions valid for 15 minutes, to-device transaction IDs
// remembered for 24 hours.
func DefaultConfig() Config {
	return Config{
		ServerName:         "localhost",
		MaxBodyBytes:       1 << 20,
		MaxBackupBodyBytes: 32 << 20,
		RateLimit: RateLimitConfig{
			PerIPPerSecond: 2000, PerIPBurst: 4000,
			PerUserPerSecond: 1000, PerUserBurst: 2000,
		},
		Argon2:                  Argon2Config{Time: 3, MemoryKiB: 64 * 1024, Threads: 4},
		MaxSyncTimeout:          Duration{5 * time.Minute},
		MaxSignaturesPerUpload:  1000,
		MaxQueryUsers:           1000,
		MaxOneTimeKeysPerUpload: 1000,
		MaxUnclaimedOneTimeKeys: 100000,
		MaxToDeviceMessages:     1000,
		UIASessionLifetime:      Duration{15 * time.Minute},
		ToDeviceTxnRetention:    Duration{24 * time.Hour},
	}
}

// RegistrationOpen reports whether m.login.dummy registration is enabled.
func (c Config) RegistrationOpen() bool {
	if c.Registration.Open != nil {
		return *c.Registration.Open
	}
	return c.ServerName == "localhost"
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if err := keys.ValidServerName(c.ServerName); err != nil {
		return fmt.Errorf("server_name: %w", err)
	}
	if c.MaxBodyBytes <= 0 {
		return fmt.Errorf("max_body_bytes must be positive")
	}
	if c.MaxBackupBodyBytes <= 0 {
		return fmt.Errorf("max_backup_body_bytes must be positive")
	}
	if c.Argon2.Time == 0 || c.Argon2.MemoryKiB == 0 || c.Argon2.Threads == 0 {
		return fmt.Errorf("argon2: time, memory_kib and threads must be positive")
	}
	if c.RateLimit.PerIPPerSecond < 0 || c.RateLimit.PerUserPerSecond < 0 {
		return fmt.Errorf("rate_limit: rates must not be negative")
	}
	if _, err := parseProxies(c.TrustedProxies); err != nil {
		return err
	}
	if c.MaxSignaturesPerUpload <= 0 || c.MaxQueryUsers <= 0 || c.MaxOneTimeKeysPerUpload <= 0 || c.MaxUnclaimedOneTimeKeys <= 0 || c.MaxToDeviceMessages <= 0 {
		return fmt.Errorf("max_* limits must be positive")
	}
	if c.UIASessionLifetime.Duration <= 0 {
		return fmt.Errorf("uia_session_lifetime must be positive")
	}
	if c.ToDeviceTxnRetention.Duration <= 0 {
		return fmt.Errorf("to_device_txn_retention must be positive")
	}
	return nil
}
