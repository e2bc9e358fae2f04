package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// staticAsset serves an embedded file by its content-hashed name: cacheable
// for a year, pre-compressed when the browser accepts gzip.
func (s *Server) staticAsset(c *fiber.Ctx) error {
	asset, ok := s.Assets.Lookup(c.Params("name"))
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "No such file.")
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderETag, asset.ETag)
	c.Set(fiber.HeaderContentType, asset.ContentType)
	c.Vary(fiber.HeaderAcceptEncoding)
	if c.Get(fiber.HeaderIfNoneMatch) == asset.ETag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if asset.Gzip != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(asset.Gzip)
	}
	return c.Send(asset.Body)
}
