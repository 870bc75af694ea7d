//! stub
use crate::env::Env;
use crate::Tap;
pub fn names() -> Vec<&'static str> { Vec::new() }
pub fn run(_env: &Env, _tap: &mut Tap) {}
