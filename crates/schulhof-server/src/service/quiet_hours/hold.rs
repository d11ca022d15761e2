//! The hold decision: which recipients of a new event are in quiet hours.
