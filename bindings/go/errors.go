package limify

// #include <limify/limify.h>
import "C"

import (
	"errors"
	"fmt"
)

// Status is a limify_status code, as every fallible C call returns it.
type Status int32

// The codes of limify.h. An unknown code is still an error.
const (
	StatusOK                 Status = C.LIMIFY_OK
	StatusInvalidArgument    Status = C.LIMIFY_INVALID_ARGUMENT
	StatusConfigError        Status = C.LIMIFY_CONFIG_ERROR
	StatusPluginError        Status = C.LIMIFY_PLUGIN_ERROR
	StatusStorageError       Status = C.LIMIFY_STORAGE_ERROR
	StatusTimeout            Status = C.LIMIFY_TIMEOUT
	StatusNotFound           Status = C.LIMIFY_NOT_FOUND
	StatusInternal           Status = C.LIMIFY_INTERNAL
	StatusBufferTooSmall     Status = C.LIMIFY_BUFFER_TOO_SMALL
	StatusFailedPrecondition Status = C.LIMIFY_FAILED_PRECONDITION
)

// String is the library's own short name for the code ("config_error", ...).
func (s Status) String() string {
	return C.GoString(C.limify_status_name(C.limify_status(s)))
}

// Error is what every failed call returns: the C status and the library's
// message, which names what and where (the JSON path of a config error, the
// file of a plugin).
//
// Compare with errors.Is against the sentinels (ErrConfig, ErrNotFound, ...):
// an error matches the sentinel of its code; a timeout also matches ErrStorage.
type Error struct {
	Code    Status
	Op      string // the Go method that failed: "New", "Check", ...
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.String()
	}
	if e.Op == "" {
		return "limify: " + msg
	}
	return fmt.Sprintf("limify: %s: %s", e.Op, msg)
}

// Is matches a sentinel (an *Error with no message) of the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Message != "" || t.Op != "" {
		return false
	}
	if e.Code == t.Code {
		return true
	}
	return e.Code == StatusTimeout && t.Code == StatusStorageError
}

// Sentinels for errors.Is, one per code.
var (
	ErrInvalidArgument    = &Error{Code: StatusInvalidArgument}
	ErrConfig             = &Error{Code: StatusConfigError}
	ErrPlugin             = &Error{Code: StatusPluginError}
	ErrStorage            = &Error{Code: StatusStorageError} // also matches timeouts
	ErrTimeout            = &Error{Code: StatusTimeout}
	ErrNotFound           = &Error{Code: StatusNotFound}
	ErrInternal           = &Error{Code: StatusInternal}
	ErrFailedPrecondition = &Error{Code: StatusFailedPrecondition}
)

// ErrClosed is returned by every call on an engine after Close. It also
// matches ErrFailedPrecondition.
var ErrClosed error = &Error{Code: StatusFailedPrecondition, Message: "the engine is closed"}

// StatusOf is the limify status carried by err (StatusOK for nil, and
// StatusInternal for an error that did not come from limify).
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return StatusInternal
}

// fromC turns a failed call's status and limify_error into an *Error.
func fromC(op string, status C.limify_status, err *C.limify_error) error {
	msg := ""
	if err != nil {
		msg = C.GoString(&err.message[0])
	}
	return &Error{Code: Status(status), Op: op, Message: msg}
}

func invalid(op, format string, args ...any) error {
	return &Error{Code: StatusInvalidArgument, Op: op, Message: fmt.Sprintf(format, args...)}
}
