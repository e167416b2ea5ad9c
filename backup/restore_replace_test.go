package backup_test

import (
	"testing"

	"vouch/backup"
)

func TestShouldReplace(t *testing.T) {
	type m = backup.KeyBackupDataMeta
	tests := []struct {
		name               string
		existing, incoming m
		replace            bool
	}{
		// Rule 1: is_verified decides first, whatever the other fields say.
		{"verified replaces unverified", m{5, 3, false}, m{5, 3, true}, true},
		{"unverified does not replace verified", m{5, 3, true}, m{5, 3, false}, false},
		{"verified beats a lower first_message_index", m{0, 0, false}, m{9, 9, true}, true},
		{"unverified with lower index keeps out verified (Synapse #13704 order)", m{9, 9, true}, m{0, 0, false}, false},
		// Rule 2: same is_verified, lower first_message_index wins.
		{"lower first_message_index replaces", m{5, 0, true}, m{4, 9, true}, true},
		{"higher first_message_index does not", m{4, 0, false}, m{5, 0, false}, false},
		{"index beats forwarded_count", m{5, 0, false}, m{4, 7, false}, true},
		// Rule 3: same is_verified and index, lower forwarded_count wins.
		{"lower forwarded_count replaces", m{5, 2, true}, m{5, 1, true}, true},
		{"higher forwarded_count does not", m{5, 1, false}, m{5, 2, false}, false},
		// Ties keep the existing copy.
		{"full tie, verified", m{5, 1, true}, m{5, 1, true}, false},
		{"full tie, unverified", m{0, 0, false}, m{0, 0, false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := backup.ShouldReplace(tt.existing, tt.incoming); got != tt.replace {
				t.Fatalf("ShouldReplace(%+v, %+v) = %v, want %v", tt.existing, tt.incoming, got, tt.replace)
			}
		})
	}
}

// TestShouldReplaceOrder checks that the rule is a strict order: never both
// directions, and exactly one direction unless the metadata are equal.
func TestShouldReplaceOrder(t *testing.T) {
	var all []backup.KeyBackupDataMeta
	for _, v := range []bool{false, true} {
		for i := range int64(3) {
			for c := range int64(3) {
				all = append(all, backup.KeyBackupDataMeta{FirstMessageIndex: i, ForwardedCount: c, IsVerified: v})
			}
		}
	}
	for _, a := range all {
		for _, b := range all {
			ab, ba := backup.ShouldReplace(a, b), backup.ShouldReplace(b, a)
			if ab && ba {
				t.Fatalf("%+v and %+v replace each other", a, b)
			}
			if a != b && !ab && !ba {
				t.Fatalf("%+v and %+v: neither replaces the other", a, b)
			}
			if a == b && (ab || ba) {
				t.Fatalf("%+v replaces its equal", a)
			}
		}
	}
}
