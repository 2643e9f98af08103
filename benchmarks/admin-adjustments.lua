-- wrk -s benchmarks/admin-adjustments.lua URL: POST /v1/members/$ADMIN_MEMBER/adjustments (+1 point, goodwill) with
-- Authorization: Bearer $ADMIN_TOKEN and an Idempotency-Key unique to each request (thread number, a per-run
-- prefix and a counter), so that every request is a new durable change and none is a replay.
local token = os.getenv("ADMIN_TOKEN")
local member = os.getenv("ADMIN_MEMBER")
local prefix = os.getenv("ADMIN_KEY_PREFIX") or tostring(os.time())
local threads = 0
local counter = 0
local thread_name = "0"
local body = '{"asset":"points","amount":1,"reason":"goodwill"}'

function setup(thread)
    threads = threads + 1
    thread:set("thread_name", tostring(threads))
end

function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/members/" .. member .. "/adjustments", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = prefix .. "-" .. thread_name .. "-" .. counter,
    }, body)
end
