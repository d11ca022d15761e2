//! The hold decision allocates nothing (counted with a global allocator).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{berlin, school};
use schulhof_directory::Role;

/// The system allocator, counting allocations.
struct Counting;

/// Allocations so far.
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn holds_allocates_nothing() {
    let quiet = school();
    let schedule = quiet.school_schedule();
    let instants = [
        berlin("2026-11-10 10:00"),
        berlin("2026-11-10 20:00"),
        berlin("2026-11-13 20:00"),
        berlin("2026-10-16 18:00"),
        berlin("2027-03-28 03:00"),
        berlin("2027-06-30 18:30"),
    ];
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let held = instants
        .iter()
        .filter(|&&at| {
            quiet
                .holds(Some(Role::Student), Some(Role::Teacher), schedule, at)
                .is_some()
        })
        .count();
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), before);
    assert_eq!(held, 5);
}
