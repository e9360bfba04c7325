//! Tests of the sources: the file tailer driven poll by poll, the configuration compiler, and
//! whole sources run through their public API.

mod config;
mod run;
mod tail;
