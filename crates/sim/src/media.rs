//! Real tiny media files served at the simulators' result URLs.
