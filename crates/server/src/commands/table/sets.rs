//! Set commands' specs.

#[allow(unused_imports)]
use super::{CommandSpec, Kind};

pub(super) static SPECS: &[CommandSpec] = &[];
