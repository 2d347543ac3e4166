//! C strings and buffers at the boundary: arguments read as UTF-8 text, results written
//! into the caller's buffers, never past their length.

use std::ffi::{CStr, CString, c_char};

use crate::error::{FfiError, copy_to_buffer};

/// The text at `ptr`, a NUL-terminated UTF-8 string; `name` names the argument in errors.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn text_arg<'a>(
    ptr: *const c_char,
    name: &'static str,
) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::Null(name));
    }
    // SAFETY: not NULL, and NUL-terminated by the caller's contract.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map_err(|e| FfiError::Invalid(format!("{name} is not UTF-8: {e}")))
}

/// `&*ptr`, or the NULL error naming the argument.
///
/// # Safety
/// `ptr` must be NULL or point to a live `T` for `'a`.
pub(crate) unsafe fn ref_arg<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T, FfiError> {
    // SAFETY: the caller's contract.
    unsafe { ptr.as_ref() }.ok_or(FfiError::Null(name))
}

/// `&mut *ptr`, or the NULL error naming the argument.
///
/// # Safety
/// `ptr` must be NULL or point to a live `T`, used by nothing else, for `'a`.
pub(crate) unsafe fn mut_arg<'a, T>(
    ptr: *mut T,
    name: &'static str,
) -> Result<&'a mut T, FfiError> {
    // SAFETY: the caller's contract.
    unsafe { ptr.as_mut() }.ok_or(FfiError::Null(name))
}

/// Copies `text` and its NUL into `buf` when they fit in `len` bytes, else fails with
/// `FfiError::BufferTooSmall` and writes nothing. `needed`, when not NULL, gets the
/// bytes needed either way.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `needed` NULL or writable.
pub(crate) unsafe fn write_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> Result<(), FfiError> {
    let need = text.len() + 1;
    // SAFETY: the caller's contract.
    if let Some(needed) = unsafe { needed.as_mut() } {
        *needed = need;
    }
    if buf.is_null() && len > 0 {
        return Err(FfiError::Null("buf"));
    }
    if len < need {
        return Err(FfiError::BufferTooSmall { len, needed: need });
    }
    // SAFETY: `need <= len` writable bytes.
    unsafe { copy_to_buffer(text, buf, len) };
    Ok(())
}

/// `text` as a C string; a NUL inside (text that came from the network can hold one)
/// becomes `\0`, so nothing is cut short silently.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text)
        .unwrap_or_else(|_| CString::new(text.replace('\0', "\\0")).expect("no NUL is left"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_to_buffer_is_snprintf() {
        let mut buf = [1 as c_char; 4];
        // SAFETY: a local buffer of its own length.
        assert_eq!(unsafe { copy_to_buffer("hello", buf.as_mut_ptr(), 4) }, 5);
        // SAFETY: NUL-terminated above.
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }, c"hel");
        // SAFETY: NULL with length 0 writes nothing.
        assert_eq!(
            unsafe { copy_to_buffer("hello", std::ptr::null_mut(), 0) },
            5
        );
        // SAFETY: length 0 writes nothing, not even the NUL.
        assert_eq!(unsafe { copy_to_buffer("hi", buf.as_mut_ptr(), 0) }, 2);
        assert_eq!(buf[0], b'h' as c_char);
    }

    #[test]
    fn write_text_needs_room_for_all_of_it() {
        let mut buf = [1 as c_char; 6];
        let mut needed = 0;
        // SAFETY: a local buffer of its own length, a local `needed`.
        let short = unsafe { write_text("hello!", buf.as_mut_ptr(), 6, &mut needed) };
        assert_eq!(short, Err(FfiError::BufferTooSmall { len: 6, needed: 7 }));
        assert_eq!((needed, buf[0]), (7, 1), "nothing written");
        // SAFETY: as above.
        unsafe { write_text("hello", buf.as_mut_ptr(), 6, std::ptr::null_mut()) }.unwrap();
        // SAFETY: NUL-terminated above.
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }, c"hello");
    }

    #[test]
    fn text_arguments_are_checked() {
        // SAFETY: NULL, and static C strings.
        unsafe {
            assert_eq!(
                text_arg(std::ptr::null(), "server"),
                Err(FfiError::Null("server"))
            );
            assert_eq!(text_arg(c"a:1".as_ptr(), "server"), Ok("a:1"));
            let bad = c"\xff".as_ptr();
            assert!(matches!(text_arg(bad, "server"), Err(FfiError::Invalid(_))));
        }
        assert_eq!(c_string("a\0b").as_bytes(), b"a\\0b");
    }
}
