-- wrk -s benchmarks/admin-member.lua URL: GET /v1/members/$ADMIN_MEMBER with Authorization: Bearer $ADMIN_TOKEN.
wrk.method = "GET"
wrk.path = "/v1/members/" .. os.getenv("ADMIN_MEMBER")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ADMIN_TOKEN")
