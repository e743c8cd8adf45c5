//! The lines an RP in another process prints for the harness: readiness with its port, and one
//! verdict per callback. The reference RP prints verdicts too when it runs in a process of its own.

/// The line an external RP prints once it accepts connections, followed by its port.
pub const READY_PREFIX: &str = "sso-repro-rp ready on port ";
/// The line an external RP prints after a callback that signed the user in.
pub const SIGNED_IN: &str = "sso-repro-rp: signed in";
/// The line an external RP prints after a callback that failed (after its error).
pub const SIGN_IN_FAILED: &str = "sso-repro-rp: sign-in failed";
static PRINT_VERDICTS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, the reference RP of this process prints the contract's verdict lines after each
/// callback (the `sso-party contract-rp` mode).
pub(crate) fn print_verdicts() {
    PRINT_VERDICTS.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Prints the verdict on a callback, when [`print_verdicts`] was called.
pub(crate) fn verdict(signed_in: bool) {
    if PRINT_VERDICTS.load(std::sync::atomic::Ordering::SeqCst) {
        println!("{}", if signed_in { SIGNED_IN } else { SIGN_IN_FAILED });
    }
}
