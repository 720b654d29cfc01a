package service

// IfMatch is a parsed If-Match header. Weak tags never match, so the HTTP
// layer keeps only strong versions.
type IfMatch struct {
	Present  bool
	Any      bool // "*"
	Versions []int32
}

// check answers 412 when the header is present and names another version.
func (m IfMatch) check(version int32) error {
	if !m.Present || m.Any {
		return nil
	}
	for _, v := range m.Versions {
		if v == version {
			return nil
		}
	}
	return Errorf(CodePreconditionFailed, "The record is at version %d, not the one If-Match names.", version)
}
