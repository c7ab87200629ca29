// Package emit owns outgoing webhooks: hooklab playing the provider. It holds
// webhook definitions and their validation, what connects them to events
// (subscriptions, triggers, automations), payload rendering with Liquid,
// authentication, custom headers, signing, a durable delivery queue in its
// own SQLite database with retries, per-webhook rate limits and circuit
// breakers, the activity log, test sends and the JSON API for all of it.
//
// # Model
//
// A [Webhook] comes from the webhooks: section of hooklab.yaml (read-only in
// the API) or from the API (kept in the emitter's database). An [Event] —
// posted to POST /api/events, sent with [Send], made from every captured or
// proxied exchange by [Emitter.OnExchange], or made by a finished delivery
// (delivery.succeeded, delivery.failed; not of a delivery that one of
// these invoked) — invokes every webhook subscribed to its type and every
// trigger whose conditions it meets. An automation notifies its own
// webhook only: its event (automation.NAME) invokes no subscription or
// trigger. Each invocation is rendered and written to the database before it
// is attempted; workers pick due invocations per webhook, so a slow or
// failing endpoint never delays another webhook. A restart resumes every
// queued invocation. Delivery is at least once, with no ordering promise.
//
// # Wiring
//
// main builds one Emitter and owns it:
//
//	em, err := emit.Open(emit.Options{Dir: dataDir, Memory: memory, Record: store.Add,
//		Publish: hub.Publish, IDs: ids, Logger: log.With("component", "emit"), Getenv: getenv})
//	err = em.SetConfig(cfg)            // and on every reload; keep the last good one on error
//	for _, p := range emit.Prefixes() { uiMux.Handle(p, em.Handler()) }
//	capture and proxy call em.OnExchange(ctx, ex) for every exchange (never blocks)
//	go em.Run(ctx)                     // deliveries, automations, retention
//	defer em.Close()                   // before the inspect store: attempts still record
//
// "hooklab check" calls Check; "hooklab send TYPE --data @file.json" calls
// ReadData and Send.
//
// # A Zendesk-style example
//
//	webhooks:
//	  - id: support-bot
//	    endpoint: https://127.0.0.1:3000/hooks/zendesk
//	    authentication:
//	      type: basic_auth
//	      username: bot
//	      password: ${BOT_PASSWORD}
//	    custom_headers: {X-Team: support}
//	    signing:
//	      scheme: zendesk
//	      secret: ${SIGNING_SECRET}
//	triggers:
//	  - name: urgent-ticket
//	    when:
//	      event: ticket.created
//	      all:
//	        - {path: ticket.priority, op: eq, value: urgent}
//	    notify:
//	      webhook: support-bot
//	      payload: '{"id": "{{ticket.id}}", "subject": "{{ticket.subject}}"}'
//
// fired with
//
//	hooklab send ticket.created --data '{"ticket": {"id": 35436, "priority": "urgent", "subject": "Printer on fire"}}'
//
// The receiver verifies X-Zendesk-Webhook-Signature: base64 of
// HMAC-SHA256(secret, X-Zendesk-Webhook-Signature-Timestamp + body):
//
//	mac := hmac.New(sha256.New, []byte(secret))
//	mac.Write([]byte(r.Header.Get("X-Zendesk-Webhook-Signature-Timestamp")))
//	mac.Write(body)
//	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
//	ok := hmac.Equal([]byte(want), []byte(r.Header.Get("X-Zendesk-Webhook-Signature")))
//
// and de-duplicates on X-Zendesk-Webhook-Invocation-Id (the same on every
// retry of one invocation). As Zendesk does, every zendesk-signed request
// also carries X-Zendesk-Account-Id (Options.AccountID) and
// X-Zendesk-Webhook-Id; every request carries hooklab's own
// X-Hooklab-Webhook-Id, X-Hooklab-Invocation-Id and X-Hooklab-Attempt
// (the invocation header keeps a webhook aimed at hooklab's own capture
// port from looping).
//
// # Benchmarks
//
// A benchmark drives the emitter through the API of a running hooklab:
// POST /api/events takes one event or a JSON list of them (up to 64 MiB);
// GET /api/emit/stats answers {"by_status": {...}, "queued", "in_flight",
// "total", "dropped_events", "buffered_events"} from counts kept by the
// database, cheap to poll. A run is over when by_status.success (plus the
// failures) reaches the number of invocations and queued and in_flight are
// 0. To hold invocations pending (memory with the queue on disk), give the
// webhook rate_limit: 1/h. In process, Emit takes events in batches and
// Stats counts the same way.
//
// # API
//
// Handler serves (mount every prefix of [Prefixes] on the API listener):
//
//	GET    /api/webhooks                       list webhooks (secrets redacted), each with stats
//	POST   /api/webhooks                       create a webhook
//	POST   /api/webhooks/test                  test-send an unsaved definition (?webhook_id=ID: the saved one, as {id}/test)
//	GET    /api/webhooks/{id}                  one webhook
//	PATCH  /api/webhooks/{id}                  change fields of an API webhook
//	DELETE /api/webhooks/{id}                  delete an API webhook
//	GET    /api/webhooks/{id}/signing_secret   show the signing secret
//	POST   /api/webhooks/{id}/signing_secret   rotate it (API webhooks)
//	POST   /api/webhooks/{id}/test             send once, no retry
//	GET    /api/webhooks/{id}/invocations      activity log (?status=&from=&to=&cursor=&limit=)
//	GET    /api/invocations                    activity log of every webhook (same filters, &webhook_id=)
//	GET    /api/invocations/{id}               one invocation with every attempt
//	POST   /api/invocations/{id}/retry         redeliver one invocation
//	POST   /api/invocations/retry              redeliver finished, unsuccessful invocations in a range
//	POST   /api/events                         post an event (or a JSON list of events)
//	GET    /api/emit/stats                     invocation counts by status (benchmarks poll this)
//	GET    /api/emit/config                    the config's triggers, automations and subscriptions (secrets redacted)
//
// Each webhook in GET /api/webhooks and GET /api/webhooks/{id} has
// "stats": {"by_status": {"success": n, "failed": n, "timeout": n,
// "client_error": n, "server_error": n}, "total": n, "success_rate": 0..1
// or null}: its finished invocations over the retention window, from
// counts kept in memory (rebuilt from the database at start).
//
// # Delivery and durability
//
// An invocation is written to the database before it is attempted, and
// POST /api/events answers once its invocations are committed (WAL,
// synchronous=NORMAL: they survive a crash of the process). Each lane
// keeps up to 1,024 queued invocations in memory, handed over when they
// are written and when a retry is recorded, so that it does not read the
// queue back; beyond that, at start and after a redelivery it reads due
// invocations from the database. An attempt's record (the attempt row and
// the invocation's new state, one transaction) follows its exchange in the
// store, each group-committed with other writes. When the disk is
// full, new events are refused (503, "database or disk is full"); attempts
// already made keep their records in memory and are written when space
// returns, and the lane makes no new attempt meanwhile. If hooklab stops
// before space returns, those attempts are missing from the activity log
// and their invocations, still queued, are attempted again at the next
// start (at least once).
//
// # Errors
//
// Every error answer is JSON {"error": "..."}. A validation error also names
// the field and lists every problem found:
//
//	{"error": "custom_headers.X-Forwarded-For: header names starting with x-forwarded are reserved",
//	 "field": "custom_headers.X-Forwarded-For",
//	 "errors": [{"field": "custom_headers.X-Forwarded-For", "error": "header names starting with x-forwarded are reserved"}]}
//
// "error" is the first problem as "field: message"; "errors" holds each
// message without the field, as the UI shows it next to the field. The same
// messages appear in config errors, as file:line:col: field: message.
package emit
