package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ossea/unifiedfailover/errs"
)

// checkDuplicateMembers refuses a body in which an object holds two
// members whose names are equal ignoring case: encoding/json matches
// member names to fields that way, so {"failover_type": …,
// "Failover_Type": …} would silently let the last one win. The error
// names the second member by its JSON path. A body that is not valid JSON
// passes: the decoder reports it.
func checkDuplicateMembers(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return errStop
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return errStop
				}
				key, _ := kt.(string)
				at := join(path, key)
				if at == "" || key == "" {
					at = join(path, fmt.Sprintf("%q", key))
				}
				if fold := strings.ToLower(key); seen[fold] {
					return errs.Field(at, "is given twice (member names are matched ignoring case)")
				} else {
					seen[fold] = true
				}
				if err := walk(at); err != nil {
					return err
				}
			}
			_, _ = dec.Token() // '}'
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, _ = dec.Token() // ']'
		}
		return nil
	}
	if err := walk(""); err != nil && err != errStop {
		return err
	}
	return nil
}

// errStop ends the walk of a body the decoder will refuse anyway.
var errStop = fmt.Errorf("stop")
