package providers

import "testing"

func TestIsIFSC(t *testing.T) {
	for s, want := range map[string]bool{
		"HDFC0001234": true, "KKBK0000958": true, "SBIN0ABC123": true,
		"HDFC1234567": false, "hdfc0001234": false, "HDF00001234": false, "HDFC000123": false,
		"HDFC00012345": false, "HDFC000123-": false, "": false,
	} {
		if got := IsIFSC(s); got != want {
			t.Errorf("IsIFSC(%q) = %v", s, got)
		}
	}
}

func TestIsGSTIN(t *testing.T) {
	for s, want := range map[string]bool{
		"27ATYPR6435K1N0": true, "29ABCDE1234F1Z5": true, "07AAACB2230MAZX": true,
		"00ATYPR6435K1N0": false, "27ATYPR6435K0N0": false, "27ATYP16435K1N0": false,
		"27atypr6435k1n0": false, "27ATYPR6435K1N": false, "2AATYPR6435K1N0": false,
	} {
		if got := IsGSTIN(s); got != want {
			t.Errorf("IsGSTIN(%q) = %v", s, got)
		}
	}
}

func TestNormalizeMobile(t *testing.T) {
	for in, want := range map[string]string{"+919876543210": "9876543210", "91 98765 43210": "9876543210",
		"09876543210": "9876543210", "98765-43210": "9876543210", "(98765) 43210": "9876543210", " 9876543210 ": "9876543210",
		"12345": "12345", "+1 415 555 0100": "+14155550100"} {
		if got := NormalizeMobile(in); got != want {
			t.Errorf("NormalizeMobile(%q) = %q, want %q", in, got, want)
		}
	}
}
