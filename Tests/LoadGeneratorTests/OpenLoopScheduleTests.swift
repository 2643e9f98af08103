import Testing

@testable import LoadGenerator

@Suite("Open-loop schedule")
struct OpenLoopScheduleTests {
    @Test("request k is due exactly from its intended time on, for rates that do and do not divide a second")
    func dueCountMatchesIntendedTimes() {
        for rate: UInt64 in [1, 3, 7, 1000, 33_333, 150_000, 10_000_000] {
            let schedule = OpenLoopSchedule(startNs: 5_000_000_000, ratePerSecond: rate)
            #expect(schedule.dueCount(at: 4_999_999_999) == 0)
            #expect(schedule.dueCount(at: 5_000_000_000) == 1)
            for index: UInt64 in [0, 1, 2, 3, 10, 999, 12_345, 1_000_000] {
                let intended = schedule.intendedNs(of: index)
                #expect(schedule.dueCount(at: intended) >= index + 1, "rate \(rate) index \(index)")
                if index > 0 && intended > schedule.intendedNs(of: index - 1) {
                    #expect(schedule.dueCount(at: intended - 1) == index, "rate \(rate) index \(index)")
                }
            }
        }
    }

    @Test("intended times are evenly spaced and do not drift: one second holds exactly `rate` requests")
    func noDrift() {
        let schedule = OpenLoopSchedule(startNs: 0, ratePerSecond: 3)
        #expect(schedule.intendedNs(of: 1) == 333_333_333)
        #expect(schedule.intendedNs(of: 3) == 1_000_000_000)
        #expect(schedule.intendedNs(of: 3 * 3600) == 3600 * 1_000_000_000)
        let fast = OpenLoopSchedule(startNs: 0, ratePerSecond: 150_000)
        #expect(fast.dueCount(at: 999_999_999) == 150_000)
    }

    @Test(
        "a stalled server shows as latency from the intended send time, not hidden by waiting (no coordinated omission)"
    )
    func stallIsCountedFromIntendedTime() throws {
        // One connection, one request in flight, answers 20 ms late, asked for 1000/s: only ~50/s can be served,
        // so requests queue behind the schedule. Latency from the intended time must grow far past the 20 ms
        // service time, and the requests that never went out must be reported.
        let responder = try TestResponder(fault: .delayMs(20))
        defer { responder.stop() }
        var configuration = responder.configuration(connections: 1, inFlight: 1, durationMs: 400)
        configuration.ratePerSecond = 1000
        configuration.timeoutNs = 1_000_000_000
        let result = try responder.run(configuration)
        let statistics = result.statistics
        #expect(statistics.answered >= 10)
        #expect(statistics.latency.valueAt(percentile: 99) > 150_000_000)
        #expect(statistics.latency.valueAt(percentile: 99) > 3 * statistics.serviceTime.valueAt(percentile: 99))
        #expect(statistics.count(.unsent) > 300)
        #expect(statistics.sendLagMaximumNs > 150_000_000)
    }

    @Test("at a rate the server keeps up with, every scheduled request goes out and latency stays near service time")
    func keepsUpWithRate() throws {
        let responder = try TestResponder()
        defer { responder.stop() }
        var configuration = responder.configuration(connections: 2, inFlight: 8, durationMs: 500)
        configuration.ratePerSecond = 2000
        let result = try responder.run(configuration)
        // The schedule owes exactly 1000 requests: each is either sent or counted unsent, never more. How many go
        // out depends on the CPU this shared machine gives the run, so only "most" is asserted, not a rate.
        let statistics = result.statistics
        #expect(statistics.sent + statistics.count(.unsent) == 1000)
        #expect(statistics.sent >= 500)
        #expect(statistics.errorCount == statistics.count(.unsent))
        #expect(statistics.answered == statistics.sent)
    }
}
