//! The op table's user_data encoding and generations.

use crate::engine::ops::{decode, first_of, hold, part2_of, OpState, OpTable, INTERNAL_UD};

#[test]
fn reused_slot_gets_a_new_generation_and_old_ids_go_stale() {
    let mut table = OpTable::default();
    let a = table.insert(1, hold(&[]), OpState::Poll);
    assert_ne!(decode(a).gen, 0, "generation 0 is reserved");
    table.remove(decode(a).key);
    let b = table.insert(2, hold(&[]), OpState::Poll);
    assert_eq!(decode(a).key, decode(b).key, "slab reuses the slot");
    assert_ne!(a, b);
    assert!(
        table.get_mut(decode(a)).is_none(),
        "stale id must not match"
    );
    assert_eq!(table.get_mut(decode(b)).map(|s| s.token), Some(2));
    assert!(table.get_mut(decode(INTERNAL_UD)).is_none());
    assert_eq!(table.live(), vec![b]);
}

#[test]
fn splice_second_half_maps_back_to_its_op() {
    let mut table = OpTable::default();
    let ud = table.insert(1, hold(&[]), OpState::SpliceOut);
    let second = decode(part2_of(ud));
    assert!(second.part2 && !decode(ud).part2);
    assert_eq!(first_of(part2_of(ud)), ud);
    assert!(table.get_mut(second).is_some());
}
