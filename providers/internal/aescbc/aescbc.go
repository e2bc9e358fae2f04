// Package aescbc is AES in CBC mode with PKCS#7 padding, the block-level piece
// that Kotak's and PayMate's body encryption share. How the IV travels differs
// per provider and stays in each provider's package.
package aescbc

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
)

// ErrCiphertext: the ciphertext is not whole blocks or its padding is wrong,
// which in practice means the wrong key or IV.
var ErrCiphertext = errors.New("aescbc: bad ciphertext or padding")

// Encrypt pads plaintext with PKCS#7 and encrypts it under key (16, 24 or 32
// bytes) with the 16-byte iv.
func Encrypt(key, iv, plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, errors.New("aescbc: iv must be 16 bytes")
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf, nil
}

// Decrypt reverses Encrypt. Padding is checked in full so that a wrong key is
// reported instead of returning garbage.
func Decrypt(key, iv, ciphertext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, errors.New("aescbc: iv must be 16 bytes")
	}
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, ErrCiphertext
	}
	buf := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, ciphertext)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, ErrCiphertext
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, ErrCiphertext
		}
	}
	return buf[:len(buf)-pad], nil
}
