# Example policy: remote pages may ask for a biometric authentication only
# on working days, from 08:00 to 18:59 office time. Calls from the app's own
# content are not affected, and nothing here can allow a call that the
# app's capabilities do not allow: a user policy only adds denials.
package capguard.authz

office_time_zone := "Europe/Paris"

# working_hours holds on Monday to Friday, 08:00 to 18:59, office time.
working_hours if {
	now := [time.now_ns(), office_time_zone]
	not time.weekday(now) in {"Saturday", "Sunday"}
	[hour, _, _] := time.clock(now)
	hour >= 8
	hour < 19
}

deny contains msg if {
	input.command == "plugin:biometric|authenticate"
	not input.origin.local
	not working_hours
	msg := sprintf("biometric authentication from %s is only allowed on working days from 08:00 to 19:00 (%s)", [input.origin.url, office_time_zone])
}
