/// Which test images a predictions grid shows: every image in `mustShow` (the misclassified and the
/// disputed, in order), then images spread evenly over the set until `count` cells are filled.
public func gridSelection(total: Int, mustShow: [Int], count: Int) -> [Int] {
    var chosen: [Int] = []
    var seen = Set<Int>()
    for index in mustShow where index >= 0 && index < total && seen.insert(index).inserted { chosen.append(index) }
    let wanted = min(total, max(count, chosen.count))
    var step = 0
    while chosen.count < wanted && step < total {
        // Evenly spaced positions, skipping ones already shown.
        let index = (step * total) / max(1, wanted) % total
        if seen.insert(index).inserted { chosen.append(index) }
        step += 1
    }
    var next = 0
    while chosen.count < wanted {
        if seen.insert(next).inserted { chosen.append(next) }
        next += 1
    }
    return chosen
}
