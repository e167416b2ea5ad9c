package bench

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"linux status", "Name:\tvouch\nVmPeak:\t  99 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n", 12345 * 1024, false},
		{"first line", "VmRSS: 1 kB", 1024, false},
		{"zero", "VmRSS:\t0 kB\n", 0, false},
		{"missing", "Name:\tx\nVmSize:\t1 kB\n", 0, true},
		{"empty", "", 0, true},
		{"no unit", "VmRSS:\t12\n", 0, true},
		{"wrong unit", "VmRSS:\t12 MB\n", 0, true},
		{"negative", "VmRSS:\t-12 kB\n", 0, true},
		{"not a number", "VmRSS:\tabc kB\n", 0, true},
		{"absurd", "VmRSS:\t99999999999999999 kB\n", 0, true},
		{"prefix only in the middle", "XVmRSS:\t12 kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmRSS([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrNoRSS) {
					t.Fatalf("err = %v, want ErrNoRSS", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestReadRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	before, err := ReadRSS()
	if err != nil {
		t.Fatal(err)
	}
	// Touch 64 MiB so that the resident size must grow.
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after, err := ReadRSS()
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 32<<20 {
		t.Errorf("RSS grew by %d bytes after touching 64 MiB", after-before)
	}
	_ = buf[len(buf)-1]
}

func FuzzParseVmRSS(f *testing.F) {
	f.Add([]byte("VmRSS:\t   12345 kB\n"))
	f.Add([]byte("Name:\tx\nVmRSS:\t1 kB\nVmRSS:\t2 kB\n"))
	f.Add([]byte("VmRSS:"))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := ParseVmRSS(in)
		if err != nil {
			if !errors.Is(err, ErrNoRSS) {
				t.Fatalf("error %v is not ErrNoRSS", err)
			}
			return
		}
		if v < 0 || v%1024 != 0 {
			t.Fatalf("value %d is not a non-negative multiple of 1024", v)
		}
		if !strings.Contains(string(in), "VmRSS:") {
			t.Fatalf("accepted input without VmRSS: %q", in)
		}
	})
}
