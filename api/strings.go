package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"
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
			return fieldError(field, "must not contain NUL or control characters")
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
			sf := t.Field(i)
			if !sf.IsExported() {
				if sf.Anonymous {
					if err := walkStrings(v.Field(i), path); err != nil {
						return err
					}
				}
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if sf.Anonymous && name == "" {
				if err := walkStrings(v.Field(i), path); err != nil {
					return err
				}
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if err := walkStrings(v.Field(i), join(path, name)); err != nil {
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

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownFieldPath finds, in body, the first member named name that t
// does not have, as the decoder met it, and returns its JSON path
// ("mappings[1].vlan"). The decoder's error names the member only; with
// the path an operator can tell which of several objects is at fault.
// It returns name when it cannot tell.
func unknownFieldPath(body []byte, t reflect.Type, name string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if p, found := walkUnknown(dec, t, ""); found && (p == name || strings.HasSuffix(p, "."+name)) {
		return p
	}
	return name
}

// walkUnknown reads one value from dec, which t is to hold (nil: any
// value is fine), and reports the path of the first object member t has
// no field for. found is also true when reading failed: the walk stops.
func walkUnknown(dec *json.Decoder, t reflect.Type, path string) (p string, found bool) {
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
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", true
			}
			key, _ := kt.(string)
			var ft reflect.Type
			if t != nil {
				switch t.Kind() {
				case reflect.Map:
					ft = t.Elem()
				case reflect.Struct:
					f, ok := fieldOf(t, key)
					if !ok {
						return join(path, key), true
					}
					ft = f
				}
			}
			if p, found := walkUnknown(dec, ft, join(path, key)); found {
				return p, true
			}
		}
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p, found := walkUnknown(dec, et, fmt.Sprintf("%s[%d]", path, i)); found {
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

// fieldOf is the type of struct t's field that the JSON member key
// decodes into, as encoding/json matches them: by tag or field name,
// exactly or else ignoring case, through embedded structs.
func fieldOf(t reflect.Type, key string) (reflect.Type, bool) {
	var fold reflect.Type
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || (!sf.IsExported() && !sf.Anonymous) {
			continue
		}
		ft := sf.Type
		if sf.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if f, ok := fieldOf(ft, key); ok {
					return f, true
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if name == key {
			return ft, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = ft
		}
	}
	return fold, fold != nil
}
