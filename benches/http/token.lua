-- wrk script: a client credentials token request, form-encoded, with HTTP Basic client
-- authentication. BASIC_AUTH is base64(client_id ":" client_secret), set by run.sh.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC_AUTH")
