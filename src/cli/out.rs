//! Standard output that ends the program quietly when the reader goes away (`sso-repro list | head -1`).

use std::io::Write;

/// Writes `text` and a newline to stdout; a closed pipe exits with 0, silently.
pub fn line(text: impl std::fmt::Display) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to standard output failed: {error}");
        std::process::exit(i32::from(super::exit::HARNESS));
    }
}

/// `println!` through [`line`].
macro_rules! outln {
    () => { $crate::cli::out::line("") };
    ($($arg:tt)*) => { $crate::cli::out::line(format_args!($($arg)*)) };
}
pub(crate) use outln;
