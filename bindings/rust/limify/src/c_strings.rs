//! NUL-terminated copies of Rust strings for one C call: on the stack when
//! they fit (a check allocates nothing on the heap for ordinary requests), or
//! for a batch, every item's strings in one heap buffer.

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
        if let Some(at) = nul_in(s) {
            return Err(nul_error(name, at));
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

/// Where `s` holds a NUL byte, which C would silently cut the string at.
fn nul_in(s: &str) -> Option<usize> {
    s.bytes().position(|b| b == 0)
}

fn nul_error(name: &str, at: usize) -> Error {
    Error::new(ErrorCode::InvalidArgument, format!("{name} contains a NUL byte at offset {at}"))
}

/// The strings of a batch call (every request's fields, every identity),
/// each NUL-terminated, in one buffer: one allocation however many items.
pub(crate) struct CStringBatch {
    text: Vec<u8>,
    starts: Vec<usize>,
}

impl CStringBatch {
    /// Room for `strings` strings of `bytes` bytes in all (NULs included).
    pub(crate) fn with_capacity(strings: usize, bytes: usize) -> Self {
        CStringBatch { text: Vec::with_capacity(bytes), starts: Vec::with_capacity(strings) }
    }

    /// Appends a copy of `s`; one with a NUL byte is refused, `name()` naming
    /// it in the error ("identities[3]", "requests[1].path").
    pub(crate) fn push(&mut self, s: &str, name: impl FnOnce() -> String) -> Result<()> {
        if let Some(at) = nul_in(s) {
            return Err(nul_error(&name(), at));
        }
        self.starts.push(self.text.len());
        self.text.extend_from_slice(s.as_bytes());
        self.text.push(0);
        Ok(())
    }

    /// A pointer to each string, in the order pushed: valid while `self` is
    /// alive and nothing more is pushed.
    pub(crate) fn pointers(&self) -> Vec<*const c_char> {
        let base = self.text.as_ptr() as *const c_char;
        // SAFETY: every start is the offset of a string inside `text`.
        self.starts.iter().map(|&at| unsafe { base.add(at) }).collect()
    }
}
