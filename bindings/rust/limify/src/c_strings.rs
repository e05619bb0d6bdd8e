//! NUL-terminated copies of Rust strings for one C call, on the stack when
//! they fit: a check allocates nothing on the heap for ordinary requests.

use std::ffi::c_char;
use std::mem::MaybeUninit;

use crate::error::{Error, ErrorCode, Result};

/// Bytes on the stack before the copies spill to the heap.
const INLINE: usize = 512;

/// Calls `f` with C strings copying `strings` (each NUL-terminated). `names`
/// name the strings in the error for an interior NUL byte, which C would
/// silently cut the string at.
pub(crate) fn with_c_strings<const N: usize, R>(
    strings: [&str; N],
    names: [&str; N],
    f: impl FnOnce([*const c_char; N]) -> R,
) -> Result<R> {
    for (s, name) in strings.iter().zip(names) {
        if let Some(at) = s.bytes().position(|b| b == 0) {
            return Err(Error::new(ErrorCode::InvalidArgument, format!("{name} contains a NUL byte at offset {at}")));
        }
    }
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    let mut inline = [MaybeUninit::<u8>::uninit(); INLINE];
    let mut heap: Vec<MaybeUninit<u8>>;
    let buf: &mut [MaybeUninit<u8>] = if total <= INLINE {
        &mut inline[..total]
    } else {
        heap = vec![MaybeUninit::uninit(); total];
        &mut heap
    };
    let base = buf.as_mut_ptr() as *mut u8;
    let mut pointers = [std::ptr::null(); N];
    let mut at = 0;
    for (i, s) in strings.iter().enumerate() {
        // SAFETY: `total` counts every string and its NUL, so
        // at + s.len() + 1 <= buf.len(); source and buffer do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(s.as_ptr(), base.add(at), s.len());
            base.add(at + s.len()).write(0);
            pointers[i] = base.add(at) as *const c_char;
        }
        at += s.len() + 1;
    }
    Ok(f(pointers))
}
