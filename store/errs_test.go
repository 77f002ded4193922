package store_test

import (
	"errors"

	"github.com/ossea/unifiedfailover/errs"
)

func asErr(err error, target **errs.Error) bool { return errors.As(err, target) }
