package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/ossea/unifiedfailover/errs"
)

// checkStrings walks a decoded request and refuses any string holding a
// NUL or another control character other than tab, newline and carriage
// return (Postgres cannot store NUL in text, and no name needs them). The
// error names the field by its JSON path, e.g. disks[0].volume_id.
func checkStrings(v any) error {
	return walkStrings(reflect.ValueOf(v), "")
}

func walkStrings(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkStrings(v.Elem(), path)
	case reflect.String:
		s := v.String()
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0 {
			field := path
			if field == "" {
				field = "(body)"
			}
			return errs.Field(field, "must not contain NUL or control characters")
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // raw JSON
		}
		for i := range v.Len() {
			if err := walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := fmt.Sprint(iter.Key().Interface())
			if err := walkStrings(iter.Key(), join(path, key)); err != nil {
				return err
			}
			if err := walkStrings(iter.Value(), join(path, key)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name, promoted, skip := jsonMember(t.Field(i))
			if skip {
				continue
			}
			at := join(path, name)
			if promoted {
				at = path
			}
			if err := walkStrings(v.Field(i), at); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonMember says how encoding/json decodes struct field sf: not at all
// (skip), as an embedded struct whose fields are promoted into the parent
// (promoted), or as the member called name.
func jsonMember(sf reflect.StructField) (name string, promoted, skip bool) {
	name, _, _ = strings.Cut(sf.Tag.Get("json"), ",")
	if name == "-" {
		return "", false, true
	}
	if sf.Anonymous {
		t := sf.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct && (name == "" || !sf.IsExported()) {
			return "", true, false
		}
	}
	if !sf.IsExported() {
		return "", false, true
	}
	if name == "" {
		name = sf.Name
	}
	return name, false, false
}

// jsonFieldPath turns the decoder's field path ("Options.power_off_source")
// into the JSON one ("power_off_source"): embedded structs add their Go
// type name, which the JSON body does not have.
func jsonFieldPath(p string) string {
	parts := strings.Split(p, ".")
	out := parts[:0]
	for _, s := range parts {
		if s != "" && unicode.IsUpper([]rune(s)[0]) {
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return p
	}
	return strings.Join(out, ".")
}

// memberFinder finds again, in a request body that failed to decode into
// t, the member at fault, to name it by its whole JSON path with array
// indices ("mappings[1].vlan"): the decoder's errors give a member's name
// only, or its path without indices, and an operator could not tell which
// of several objects is wrong.
type memberFinder struct {
	body []byte
	t    reflect.Type
}

// unknown is the path of the first member t has no field for, when it is
// named name (as the decoder said); name otherwise.
func (f memberFinder) unknown(name string) string {
	p := f.find(func(_, _ string, _ reflect.Type, _ json.Token, unknown bool) bool { return unknown })
	if p == name || strings.HasSuffix(p, "."+name) {
		return p
	}
	return name
}

// wrongType is the path of the first value at field (a path of struct
// fields only, without map keys or indices, as the decoder gave it) whose
// JSON kind t cannot hold; field when there is none.
func (f memberFinder) wrongType(field string) string {
	p := f.find(func(_, fields string, t reflect.Type, tok json.Token, unknown bool) bool {
		return !unknown && !fits(t, tok) && fields == field
	})
	if p == "" {
		return field
	}
	return p
}

// find walks the body in document order and returns the path of the
// first member match accepts ("" when none does, or the body cannot be
// read). match is asked about every value (with the type that is to hold
// it, nil when any value will do) and every member t has no field for
// (unknown), with the member's path and its path of struct fields only.
func (f memberFinder) find(match memberMatch) string {
	p, _ := walkMembers(json.NewDecoder(bytes.NewReader(f.body)), f.t, "", "", match)
	return p
}

// memberMatch says whether the member at path (fields: the struct fields
// of the path only) is the one sought.
type memberMatch func(path, fields string, t reflect.Type, tok json.Token, unknown bool) bool

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walkMembers reads one value from dec, which t is to hold, and returns
// the path of the first member match accepts; stop is true when one did
// or reading failed.
func walkMembers(dec *json.Decoder, t reflect.Type, path, fields string, match memberMatch) (p string, stop bool) {
	tok, err := dec.Token()
	if err != nil {
		return "", true
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		reflect.PointerTo(t).Implements(textUnmarshaler)) {
		t = nil // decodes itself: whatever it accepts is not ours to judge
	}
	if match(path, fields, t, tok, false) {
		return path, true
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", true
			}
			key, _ := kt.(string)
			var ft reflect.Type
			ff := fields // a map's keys are not in the decoder's paths
			if t != nil {
				switch t.Kind() {
				case reflect.Map:
					ft = t.Elem()
				case reflect.Struct:
					f, ok := fieldOf(t, key)
					ff = join(fields, key)
					if !ok && match(join(path, key), ff, nil, nil, true) {
						return join(path, key), true
					}
					ft = f
				}
			}
			if p, stop := walkMembers(dec, ft, join(path, key), ff, match); stop {
				return p, true
			}
		}
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p, stop := walkMembers(dec, et, fmt.Sprintf("%s[%d]", path, i), fields, match); stop {
				return p, true
			}
		}
	default:
		return "", false
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return "", true
	}
	return "", false
}

// fits says whether a value beginning with tok can go into t (nil: any).
func fits(t reflect.Type, tok json.Token) bool {
	if t == nil || tok == nil {
		return true
	}
	k := t.Kind()
	switch tok.(type) {
	case string:
		return k == reflect.String || (k == reflect.Slice && t.Elem().Kind() == reflect.Uint8)
	case float64:
		return k >= reflect.Int && k <= reflect.Float64
	case bool:
		return k == reflect.Bool
	case json.Delim:
		if tok == json.Delim('{') {
			return k == reflect.Struct || k == reflect.Map
		}
		return k == reflect.Slice || k == reflect.Array
	}
	return true
}

// fieldOf is the type of struct t's field that the JSON member key
// decodes into, as encoding/json matches them: by tag or field name,
// exactly or else ignoring case, through embedded structs.
func fieldOf(t reflect.Type, key string) (reflect.Type, bool) {
	var fold reflect.Type
	for i := range t.NumField() {
		sf := t.Field(i)
		name, promoted, skip := jsonMember(sf)
		switch {
		case skip:
		case promoted:
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if f, ok := fieldOf(ft, key); ok {
				return f, true
			}
		case name == key:
			return sf.Type, true
		case fold == nil && strings.EqualFold(name, key):
			fold = sf.Type
		}
	}
	return fold, fold != nil
}
