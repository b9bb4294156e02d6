import PromowatchCore

/// One code's redemptions in one minute, stored flat: 48 bytes, no reference.
struct CouponCell: Sendable {
    var coupon: Int32
    var applied: Int32 = 0
    var sharedCount: Int32 = 0
    var stacked: Int32 = 0
    var discount = 0.0
    var sharedDiscount = 0.0
    var sharedSubtotal = 0.0
    /// The first account that redeemed it this minute (0 = none yet); once a second one comes,
    /// all of them are in the table's account sketches instead.
    var account: UInt64 = 0

    init(coupon: Int32) { self.coupon = coupon }
}

/// A minute's `CouponStat`s by code, kept compact because a batch holds one table per minute of
/// its input: cells in one array in the order codes first appeared (so iteration is
/// deterministic), an open-addressed index of 4-byte slots, and an account sketch only for the
/// codes that more than one account redeemed this minute. About 56 bytes a code-minute, against
/// some 215 for a dictionary of `CouponStat` (issue 12: 100,000 codes a minute).
struct CouponTable: Sendable, Sequence {
    private(set) var cells: [CouponCell] = []
    /// Index into `cells` plus one (0 = empty); a power of two, at most half full. Empty after
    /// `compact` until the next insert rebuilds it.
    private var slots: [Int32] = []
    /// Codes redeemed by more than one account this minute, by cell index.
    private var sketches: [Int32: BottomK] = [:]
    /// The sample of a code's redeemers kept per minute. It bounds how sure "its redeemers are new"
    /// can ever be: all of 24 new is at least 82% new at 99% (n / (n + z²)), so against a shop
    /// whose redeemers were 60% new (bar 85%) a leak could never be blocked, however many
    /// redeemed it; all of 64 is at least 92%.
    static let accountsK = 64

    init() {}

    var count: Int { cells.count }
    var isEmpty: Bool { cells.isEmpty }
    var keys: [Int32] { cells.map(\.coupon) }

    @inline(__always) private static func slot(_ c: Int32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: c)) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The cell index of `c`, inserting an empty cell when it is new.
    private mutating func index(_ c: Int32) -> Int {
        if slots.isEmpty || cells.count * 2 >= slots.count { rebuild(minimum: cells.count + 1) }
        let mask = slots.count - 1
        var s = CouponTable.slot(c, mask)
        while true {
            let v = Int(slots[s])
            if v == 0 {
                cells.append(CouponCell(coupon: c))
                slots[s] = Int32(cells.count)
                return cells.count - 1
            }
            if cells[v - 1].coupon == c { return v - 1 }
            s = (s + 1) & mask
        }
    }

    private mutating func rebuild(minimum: Int) {
        var size = 16
        while size < minimum * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        let mask = size - 1
        for (i, cell) in cells.enumerated() {
            var s = CouponTable.slot(cell.coupon, mask)
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(i + 1)
        }
    }

    /// Adds one redemption of `c`; returns the redemptions of `c` this minute so far.
    @discardableResult
    mutating func add(_ c: Int32, _ e: Event, account: UInt64) -> Int32 {
        let i = index(c)
        cells[i].applied +~= 1
        if e.discount.isFinite {
            cells[i].discount += e.discount
            if e.subtotal.isFinite && e.subtotal > 0 {
                cells[i].sharedDiscount += e.discount
                cells[i].sharedSubtotal += e.subtotal
                cells[i].sharedCount +~= 1
                if e.discount >= e.subtotal { cells[i].stacked +~= 1 }
            }
        }
        if account != 0 { note(account, i) }
        return cells[i].applied
    }

    private mutating func note(_ account: UInt64, _ i: Int) {
        let first = cells[i].account
        if first == 0 {
            cells[i].account = account
        } else if first != account || sketches[Int32(i)] != nil {
            sketches[Int32(i), default: BottomK(k: CouponTable.accountsK, first)].insert(account)
        }
    }

    /// Adds a stat of the same code (another instance's partial, a decoded snapshot).
    mutating func merge(_ c: Int32, _ s: CouponStat) {
        let i = index(c)
        cells[i].applied +~= s.applied
        cells[i].discount += s.discount
        cells[i].sharedDiscount += s.sharedDiscount
        cells[i].sharedSubtotal += s.sharedSubtotal
        cells[i].sharedCount +~= s.sharedCount
        cells[i].stacked +~= s.stacked
        for a in s.accounts.values where a != 0 { note(a, i) }
    }

    /// The stat of cell `i`, as the window merges and the baseline read it.
    func stat(at i: Int) -> CouponStat {
        let cell = cells[i]
        var s = CouponStat()
        s.applied = cell.applied
        s.discount = cell.discount
        s.sharedDiscount = cell.sharedDiscount
        s.sharedSubtotal = cell.sharedSubtotal
        s.sharedCount = cell.sharedCount
        s.stacked = cell.stacked
        if let k = sketches[Int32(i)] {
            s.accounts = k
        } else if cell.account != 0 {
            s.accounts.insert(cell.account)
        }
        return s
    }

    /// Drops the growth slack and the index (a minute that no longer fills): the cells stay,
    /// the index comes back with the next insert.
    mutating func compact() {
        guard cells.capacity > cells.count + cells.count / 8 || !slots.isEmpty else { return }
        var trimmed: [CouponCell] = []
        trimmed.reserveCapacity(cells.count)
        trimmed.append(contentsOf: cells)
        cells = trimmed
        slots = []
    }

    struct Iterator: IteratorProtocol {
        let table: CouponTable
        var i = 0
        mutating func next() -> (key: Int32, value: CouponStat)? {
            guard i < table.cells.count else { return nil }
            defer { i += 1 }
            return (table.cells[i].coupon, table.stat(at: i))
        }
    }

    func makeIterator() -> Iterator { Iterator(table: self) }
}

extension BottomK {
    init(k: Int, _ first: UInt64) {
        self.init(k: k)
        insert(first)
    }
}
