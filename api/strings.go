package api

import (
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
