package wsframe

// WindowBytes is what c keeps for context takeover: the capacity of its
// two windows.
func WindowBytes(c *Codec) int {
	n := 0
	if c.st.inflate != nil {
		n += cap(c.st.inflate.win.b)
	}
	if c.st.deflate != nil {
		n += cap(c.st.deflate.win.b)
	}
	return n
}
