"""Photos on screen: a strip of thumbnails and a full-size viewer (docs/photos.md)."""
