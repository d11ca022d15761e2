//! A decision allocates nothing (counted with a global allocator).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{direct, room, school};
use schulhof_directory::Role;
use schulhof_policy::{decide, Action, JoinVia, Managed, Rights, StateChange};

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
fn decisions_allocate_nothing() {
    let (dir, rights) = (school(), Rights::default());
    let members = ["eva.koch", "uwe.wolf", "clara.mueller", "anna.schmidt"];
    let parents = room(Some(Role::Parent), &members);
    let pair = ["ben.mueller", "nora.fischer"];
    let chat = direct(Some(Role::Student), &pair);
    let actions = [
        (
            "ben.mueller",
            Action::CreateRoom {
                direct: true,
                invitees: &["nora.fischer"],
                public: false,
                managed: Managed::No,
            },
        ),
        (
            "eva.koch",
            Action::Invite {
                target: "jo.klein",
                room: &parents,
            },
        ),
        (
            "jo.klein",
            Action::Join {
                room: &parents,
                via: JoinVia::Invite {
                    inviter: "eva.koch",
                },
            },
        ),
        (
            "ben.mueller",
            Action::SendMessage {
                room: &chat,
                event_type: "m.room.message",
            },
        ),
        (
            "eva.koch",
            Action::SendMessage {
                room: &parents,
                event_type: "m.room.message",
            },
        ),
        (
            "ben.mueller",
            Action::ChangeRoomState {
                change: StateChange::PowerLevels { raises_self: true },
                room: None,
            },
        ),
        ("anna.schmidt", Action::ResetPassword { target: "eva.koch" }),
        ("lena.wolf", Action::Report),
        ("bot", Action::ImportUsers),
    ];
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let denied = actions
        .iter()
        .filter(|(actor, action)| !decide(actor, action, &dir, &rights).is_allowed())
        .count();
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), before);
    assert_eq!(denied, 7);
}
