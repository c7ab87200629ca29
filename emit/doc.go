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
// proxied exchange by [Emitter.OnExchange], fired by an automation, or made
// by a finished delivery (delivery.succeeded, delivery.failed) — invokes
// every webhook subscribed to its type and every trigger whose conditions it
// meets. Each invocation is rendered and written to the database before it
// is attempted; workers pick due invocations per webhook, so a slow or
// failing endpoint never delays another webhook. A restart resumes every
// queued invocation. Delivery is at least once, with no ordering promise.
//
// # API
//
// Handler serves (mount every prefix of [Prefixes] on the API listener):
//
//	GET    /api/webhooks                       list webhooks (secrets redacted)
//	POST   /api/webhooks                       create a webhook
//	POST   /api/webhooks/test                  test-send an unsaved definition
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
