/**
 * ISO 3166-1 alpha-2 codes → English short names and numeric codes (the numeric code is how the
 * world-atlas TopoJSON names its countries). Names are CLDR's English region names (as Node's
 * `Intl.DisplayNames` gives them) with a few shortened; numeric codes are ISO 3166-1's. `XK`
 * (Kosovo) is user-assigned and has no numeric code. Generated once; keep it sorted by code.
 */
const TABLE =
  'AD:Andorra:020|AE:United Arab Emirates:784|AF:Afghanistan:004|AG:Antigua & Barbuda:028|' +
  'AI:Anguilla:660|AL:Albania:008|AM:Armenia:051|AO:Angola:024|AQ:Antarctica:010|AR:Argentina:032|' +
  'AS:American Samoa:016|AT:Austria:040|AU:Australia:036|AW:Aruba:533|AX:Åland Islands:248|' +
  'AZ:Azerbaijan:031|BA:Bosnia & Herzegovina:070|BB:Barbados:052|BD:Bangladesh:050|BE:Belgium:056|' +
  'BF:Burkina Faso:854|BG:Bulgaria:100|BH:Bahrain:048|BI:Burundi:108|BJ:Benin:204|' +
  'BL:St. Barthélemy:652|BM:Bermuda:060|BN:Brunei:096|BO:Bolivia:068|BQ:Caribbean Netherlands:535|' +
  'BR:Brazil:076|BS:Bahamas:044|BT:Bhutan:064|BV:Bouvet Island:074|BW:Botswana:072|BY:Belarus:112|' +
  'BZ:Belize:084|CA:Canada:124|CC:Cocos (Keeling) Islands:166|CD:Congo (Kinshasa):180|' +
  'CF:Central African Republic:140|CG:Congo (Brazzaville):178|CH:Switzerland:756|' +
  'CI:Côte d’Ivoire:384|CK:Cook Islands:184|CL:Chile:152|CM:Cameroon:120|CN:China:156|' +
  'CO:Colombia:170|CR:Costa Rica:188|CU:Cuba:192|CV:Cape Verde:132|CW:Curaçao:531|' +
  'CX:Christmas Island:162|CY:Cyprus:196|CZ:Czechia:203|DE:Germany:276|DJ:Djibouti:262|' +
  'DK:Denmark:208|DM:Dominica:212|DO:Dominican Republic:214|DZ:Algeria:012|EC:Ecuador:218|' +
  'EE:Estonia:233|EG:Egypt:818|EH:Western Sahara:732|ER:Eritrea:232|ES:Spain:724|ET:Ethiopia:231|' +
  'FI:Finland:246|FJ:Fiji:242|FK:Falkland Islands:238|FM:Micronesia:583|FO:Faroe Islands:234|' +
  'FR:France:250|GA:Gabon:266|GB:United Kingdom:826|GD:Grenada:308|GE:Georgia:268|' +
  'GF:French Guiana:254|GG:Guernsey:831|GH:Ghana:288|GI:Gibraltar:292|GL:Greenland:304|' +
  'GM:Gambia:270|GN:Guinea:324|GP:Guadeloupe:312|GQ:Equatorial Guinea:226|GR:Greece:300|' +
  'GS:South Georgia & South Sandwich Islands:239|GT:Guatemala:320|GU:Guam:316|' +
  'GW:Guinea-Bissau:624|GY:Guyana:328|HK:Hong Kong:344|HM:Heard & McDonald Islands:334|' +
  'HN:Honduras:340|HR:Croatia:191|HT:Haiti:332|HU:Hungary:348|ID:Indonesia:360|IE:Ireland:372|' +
  'IL:Israel:376|IM:Isle of Man:833|IN:India:356|IO:British Indian Ocean Territory:086|' +
  'IQ:Iraq:368|IR:Iran:364|IS:Iceland:352|IT:Italy:380|JE:Jersey:832|JM:Jamaica:388|JO:Jordan:400|' +
  'JP:Japan:392|KE:Kenya:404|KG:Kyrgyzstan:417|KH:Cambodia:116|KI:Kiribati:296|KM:Comoros:174|' +
  'KN:St. Kitts & Nevis:659|KP:North Korea:408|KR:South Korea:410|KW:Kuwait:414|' +
  'KY:Cayman Islands:136|KZ:Kazakhstan:398|LA:Laos:418|LB:Lebanon:422|LC:St. Lucia:662|' +
  'LI:Liechtenstein:438|LK:Sri Lanka:144|LR:Liberia:430|LS:Lesotho:426|LT:Lithuania:440|' +
  'LU:Luxembourg:442|LV:Latvia:428|LY:Libya:434|MA:Morocco:504|MC:Monaco:492|MD:Moldova:498|' +
  'ME:Montenegro:499|MF:St. Martin:663|MG:Madagascar:450|MH:Marshall Islands:584|' +
  'MK:North Macedonia:807|ML:Mali:466|MM:Myanmar:104|MN:Mongolia:496|MO:Macao:446|' +
  'MP:Northern Mariana Islands:580|MQ:Martinique:474|MR:Mauritania:478|MS:Montserrat:500|' +
  'MT:Malta:470|MU:Mauritius:480|MV:Maldives:462|MW:Malawi:454|MX:Mexico:484|MY:Malaysia:458|' +
  'MZ:Mozambique:508|NA:Namibia:516|NC:New Caledonia:540|NE:Niger:562|NF:Norfolk Island:574|' +
  'NG:Nigeria:566|NI:Nicaragua:558|NL:Netherlands:528|NO:Norway:578|NP:Nepal:524|NR:Nauru:520|' +
  'NU:Niue:570|NZ:New Zealand:554|OM:Oman:512|PA:Panama:591|PE:Peru:604|PF:French Polynesia:258|' +
  'PG:Papua New Guinea:598|PH:Philippines:608|PK:Pakistan:586|PL:Poland:616|' +
  'PM:St. Pierre & Miquelon:666|PN:Pitcairn Islands:612|PR:Puerto Rico:630|PS:Palestine:275|' +
  'PT:Portugal:620|PW:Palau:585|PY:Paraguay:600|QA:Qatar:634|RE:Réunion:638|RO:Romania:642|' +
  'RS:Serbia:688|RU:Russia:643|RW:Rwanda:646|SA:Saudi Arabia:682|SB:Solomon Islands:090|' +
  'SC:Seychelles:690|SD:Sudan:729|SE:Sweden:752|SG:Singapore:702|SH:St. Helena:654|' +
  'SI:Slovenia:705|SJ:Svalbard & Jan Mayen:744|SK:Slovakia:703|SL:Sierra Leone:694|' +
  'SM:San Marino:674|SN:Senegal:686|SO:Somalia:706|SR:Suriname:740|SS:South Sudan:728|' +
  'ST:São Tomé & Príncipe:678|SV:El Salvador:222|SX:Sint Maarten:534|SY:Syria:760|SZ:Eswatini:748|' +
  'TC:Turks & Caicos Islands:796|TD:Chad:148|TF:French Southern Territories:260|TG:Togo:768|' +
  'TH:Thailand:764|TJ:Tajikistan:762|TK:Tokelau:772|TL:Timor-Leste:626|TM:Turkmenistan:795|' +
  'TN:Tunisia:788|TO:Tonga:776|TR:Türkiye:792|TT:Trinidad & Tobago:780|TV:Tuvalu:798|' +
  'TW:Taiwan:158|TZ:Tanzania:834|UA:Ukraine:804|UG:Uganda:800|UM:U.S. Outlying Islands:581|' +
  'US:United States:840|UY:Uruguay:858|UZ:Uzbekistan:860|VA:Vatican City:336|' +
  'VC:St. Vincent & Grenadines:670|VE:Venezuela:862|VG:British Virgin Islands:092|' +
  'VI:U.S. Virgin Islands:850|VN:Vietnam:704|VU:Vanuatu:548|WF:Wallis & Futuna:876|WS:Samoa:882|' +
  'XK:Kosovo:|YE:Yemen:887|YT:Mayotte:175|ZA:South Africa:710|ZM:Zambia:894|ZW:Zimbabwe:716';
interface CountryEntry {
  readonly name: string;
  readonly numeric: string;
}

const ENTRIES: ReadonlyMap<string, CountryEntry> = new Map(
  TABLE.split('|').map((row) => {
    const [code = '', name = '', numeric = ''] = row.split(':');
    return [code, { name, numeric }];
  }),
);

/** The English name of a country code ("United States"), or the code itself when unknown. */
export function countryName(code: string | null): string {
  if (code === null) return 'Unknown location';
  return ENTRIES.get(code)?.name ?? code;
}

/** "United States (US)": the name with the code, for tables. */
export function countryLabel(code: string | null): string {
  if (code === null) return 'Unknown location';
  const name = ENTRIES.get(code)?.name;
  return name ? `${name} (${code})` : code;
}

/** The ISO 3166-1 numeric code of a country ("840"), or null (unknown code, or Kosovo). */
export function countryNumeric(code: string): string | null {
  const n = ENTRIES.get(code)?.numeric;
  return n ? n : null;
}
