// Package static embeds Paydesk's browser assets and serves them under
// content-hashed names, so they can be cached for a year and still change the
// moment a new build ships.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
)

//go:embed app.css app.js favicon.svg vendor/*.js
var files embed.FS

// Asset is one embedded file, ready to serve.
type Asset struct {
	Name        string // hashed name, e.g. app.1a2b3c4d5e.css
	ContentType string
	ETag        string
	Body        []byte
	Gzip        []byte // nil when compression does not pay
}

// Assets maps logical names (app.css) to hashed URLs and serves the files.
type Assets struct {
	byLogical map[string]*Asset
	byHashed  map[string]*Asset
}

// Load reads, hashes and compresses every embedded asset once.
func Load() (*Assets, error) {
	a := &Assets{byLogical: map[string]*Asset{}, byHashed: map[string]*Asset{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(p)
		base := strings.TrimSuffix(path.Base(p), ext)
		asset := &Asset{
			Name:        base + "." + hash + ext,
			ContentType: mime.TypeByExtension(ext),
			ETag:        `"` + hash + `"`,
			Body:        body,
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body)*9/10 {
			asset.Gzip = buf.Bytes()
		}
		a.byLogical[path.Base(p)] = asset
		a.byHashed[asset.Name] = asset
		return nil
	})
	return a, err
}

// URL returns the path a page links to for a logical asset name.
func (a *Assets) URL(logical string) string {
	if asset, ok := a.byLogical[logical]; ok {
		return "/static/" + asset.Name
	}
	return "/static/missing-" + logical
}

// Lookup finds an asset by its hashed name.
func (a *Assets) Lookup(hashed string) (*Asset, bool) {
	asset, ok := a.byHashed[hashed]
	return asset, ok
}
