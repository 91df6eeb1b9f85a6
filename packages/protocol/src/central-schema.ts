/**
 * The central schema (spec 2023 §2.1 and Appendix A, from pymemri 0.1.2): the value type of every
 * property name a 2023 client uses without declaring it, and its item types with their edges.
 * Declared here once; the Pod resolves property types against it, the client checks its classes
 * against it.
 */
import type { ValueType } from './values.js';

/** Central property names by value type (A.1); every name has exactly one type. */
const CENTRAL_NAMES_BY_TYPE = {
  Bool: [
    'active',
    'allowSharing',
    'encrypted',
    'importIsActive',
    'isIndexed',
    'isMe',
    'isMock',
    'isSubmitted',
    'outward',
    'skippedByLabeller',
    'starred',
  ],
  Integer: [
    'bitrate',
    'channels',
    'duration',
    'gitProjectId',
    'height',
    'proximityValue',
    'sequence',
    'templateId',
    'webserverPort',
    'width',
  ],
  Real: ['latitude', 'longitude', 'myToken', 'progress', 'quantity', 'relevance', 'score'],
  DateTime: [
    'birthDate',
    'date',
    'dateCreated',
    'dateExecuted',
    'dateModified',
    'datePublished',
    'dateReceived',
    'dateSent',
    'dateServerModified',
    'deathDate',
    'endTime',
    'filterCreatedAfter',
    'postDate',
    'published',
    'startTime',
    'updated',
  ],
  Text: [
    'abstract',
    'accessToken',
    'accessTokenSecret',
    'action',
    'actionname',
    'addressBookId',
    'authEmail',
    'author',
    'authUrl',
    'avatarUrl',
    'bundleImage',
    'caption',
    'category',
    'city',
    'coarseLabel',
    'code',
    'color',
    'conditiontype',
    'config',
    'configJson',
    'containerId',
    'containerImage',
    'content',
    'currentLabelOption',
    'dataSource',
    'dataType',
    'definition',
    'definitionType',
    'description',
    'deviceAddress',
    'displayName',
    'domain',
    'email',
    'encoding',
    'error',
    'errorMessage',
    'exifData',
    'externalId',
    'fileLocation',
    'filename',
    'filterCreatedAfterPropertyName',
    'fineLabel',
    'firstName',
    'fullText',
    'gender',
    'gitlabUrl',
    'handle',
    'href',
    'icon',
    'id',
    'identifier',
    'indexerClass',
    'itemDescription',
    'itemType',
    'keystr',
    'keyword',
    'label',
    'labelType',
    'labelValue',
    'languageCode',
    'languageName',
    'lastName',
    'link',
    'locationAutoLookupHash',
    'message',
    'mode',
    'name',
    'nonce',
    'ocrText',
    'phoneNumber',
    'pluginDescription',
    'pluginModule',
    'pluginName',
    'pluginRunId',
    'pluginType',
    'postalCode',
    'postType',
    'profileAddress',
    'progressMessage',
    'queryStr',
    'refreshToken',
    'renderer',
    'repository',
    'role',
    'rssFeedId',
    'runDestination',
    'runStatus',
    'secret',
    'seedPhrase',
    'selector',
    'service',
    'sessionName',
    'sexualOrientation',
    'sha256',
    'source',
    'sourceProject',
    'srcLang',
    'state',
    'status',
    'street',
    'subject',
    'summary',
    'summarySource',
    'targetDataType',
    'targetItemId',
    'task',
    'templateName',
    'textContent',
    'tgtLang',
    'thumbnail',
    'title',
    'tokenAddress',
    'topic',
    'transcript',
    'translatedProperty',
    'triggerOn',
    'url',
    'value',
    'version',
  ],
} as const satisfies Record<ValueType, readonly string[]>;

export type CentralProperty = (typeof CENTRAL_NAMES_BY_TYPE)[keyof typeof CENTRAL_NAMES_BY_TYPE][number];

/** Property name → value type: the 163 names of A.1, base fields included. */
export const CENTRAL_PROPERTIES: ReadonlyMap<string, ValueType> = new Map(
  Object.entries(CENTRAL_NAMES_BY_TYPE).flatMap(([valueType, names]) =>
    names.map((name) => [name, valueType as ValueType] as const),
  ),
);

/**
 * The Pod's fixed built-in properties besides the base fields (§2.1): never overridable. The 8 of
 * v4 §4 and the three an `ItemEdgeSchema` item carries.
 */
export const BUILT_IN_PROPERTIES = {
  itemType: 'Text',
  propertyName: 'Text',
  valueType: 'Text',
  containerImage: 'Text',
  targetItemId: 'Text',
  sha256: 'Text',
  key: 'Text',
  nonce: 'Text',
  edgeName: 'Text',
  sourceType: 'Text',
  targetType: 'Text',
} as const satisfies Readonly<Record<string, ValueType>>;

/** An item type of A.2: its parent, the properties and edges it adds (an edge given again overrides the parent's). */
export interface CentralType {
  readonly extends: string | null;
  readonly properties: readonly CentralProperty[];
  /** Edge name → its target types (more than one: a union). */
  readonly edges: Readonly<Record<string, readonly string[]>>;
}

const type = (
  parent: string,
  properties: readonly CentralProperty[],
  edges: Readonly<Record<string, string | readonly string[]>> = {},
): CentralType => ({
  extends: parent,
  properties,
  edges: Object.fromEntries(
    Object.entries(edges).map(([name, target]) => [name, typeof target === 'string' ? [target] : target]),
  ),
});

/** The item types of A.2; `Item` is their root. */
export const CENTRAL_TYPES: Readonly<Record<string, CentralType>> = {
  Item: {
    extends: null,
    properties: ['id', 'dateCreated', 'dateModified', 'dateServerModified', 'externalId'],
    edges: { language: ['Language'], label: ['CategoricalPrediction'], translation: ['Translation'] },
  },
  Account: type(
    'Item',
    [
      'avatarUrl',
      'authEmail',
      'code',
      'displayName',
      'handle',
      'identifier',
      'isMe',
      'itemType',
      'secret',
      'service',
      'accessToken',
      'refreshToken',
    ],
    {
      changelog: 'AuditItem',
      cryptoTransaction: 'CryptoTransaction',
      location: 'Location',
      network: 'Network',
      ownCurrency: 'CryptoCurrency',
      owner: 'Person',
      trust: 'Account',
      profilePicture: 'Photo',
      following: 'Account',
      follower: 'Account',
    },
  ),
  Address: type('Location', ['city', 'itemType', 'locationAutoLookupHash', 'postalCode', 'state', 'street'], {
    changelog: 'AuditItem',
    country: 'Country',
    location: 'Location',
  }),
  AuditItem: type('Item', ['actionname', 'content', 'date']),
  CVUStoredDefinition: type('Item', [
    'definition',
    'domain',
    'itemType',
    'name',
    'queryStr',
    'renderer',
    'selector',
    'definitionType',
  ]),
  CategoricalLabel: type('LabelAnnotation', ['labelValue']),
  CategoricalPrediction: type('Item', ['source', 'value', 'score'], { model: 'Model' }),
  Country: type('Location', ['name'], { flag: 'Photo', location: 'Location' }),
  CreativeWork: type(
    'Item',
    ['abstract', 'content', 'datePublished', 'itemType', 'keyword', 'textContent', 'title', 'transcript'],
    { contentLocation: 'Location', file: 'File', locationCreated: 'Location', writtenBy: 'Person' },
  ),
  CryptoCurrency: type('Item', ['myToken', 'name', 'topic'], {
    currencySetting: 'CurrencySetting',
    picture: 'Photo',
  }),
  CryptoKey: type('Item', ['active', 'itemType', 'keystr', 'name', 'role', 'starred'], { owner: 'Person' }),
  CryptoTransaction: type('Item', ['outward', 'quantity'], {
    cryptoCurrency: 'CryptoCurrency',
    relateToOther: 'Account',
    relateToOwner: 'Account',
  }),
  CurrencySetting: type('Item', ['deviceAddress', 'profileAddress', 'seedPhrase', 'tokenAddress'], {
    wallet: 'Wallet',
  }),
  Dataset: type('Item', ['name', 'queryStr'], {
    entry: 'DatasetEntry',
    labellingTask: 'LabellingTask',
    datasetType: 'DatasetType',
  }),
  DatasetEntry: type('Item', ['skippedByLabeller'], {
    data: ['EmailMessage', 'Message'],
    annotation: 'CategoricalLabel',
  }),
  DatasetType: type('Item', ['name', 'queryStr']),
  Diet: type(
    'Item',
    [
      'abstract',
      'content',
      'datePublished',
      'duration',
      'itemType',
      'keyword',
      'name',
      'textContent',
      'title',
      'transcript',
    ],
    { contentLocation: 'Location', file: 'File', locationCreated: 'Location', writtenBy: 'Person' },
  ),
  EmailMessage: type('Message', ['starred'], {
    message: 'EmailMessage',
    bcc: 'Account',
    cc: 'Account',
    replyTo: 'Account',
  }),
  File: type('Item', ['filename', 'keystr', 'nonce', 'sha256', 'starred']),
  Indexer: type(
    'Integrator',
    ['bundleImage', 'icon', 'indexerClass', 'itemDescription', 'queryStr', 'runDestination'],
    { indexerRun: 'IndexerRun' },
  ),
  IndexerRun: type(
    'Integrator',
    ['errorMessage', 'progress', 'progressMessage', 'queryStr', 'runStatus', 'targetDataType'],
    { indexer: 'Indexer' },
  ),
  Integrator: type('Item', ['name', 'repository']),
  Label: type('Item', ['color', 'name']),
  LabelAnnotation: type('Item', ['allowSharing', 'isSubmitted']),
  LabelOption: type('Item', ['color', 'name']),
  LabellingDataType: type('Item', ['name', 'labelType']),
  LabellingTask: type('Item', ['name', 'currentLabelOption'], {
    taskType: 'TextClassification',
    labelOption: 'LabelOption',
    view: 'CVUStoredDefinition',
  }),
  Language: type('Item', ['languageCode', 'languageName']),
  Location: type('Item', ['latitude', 'longitude']),
  MediaObject: type('Item', ['bitrate', 'duration', 'endTime', 'fileLocation', 'startTime'], {
    file: 'File',
    includes: 'Person',
  }),
  MedicalCondition: type('Item', ['conditiontype', 'itemType', 'name']),
  Message: type('WrittenWork', ['dateReceived', 'dateSent', 'service', 'subject', 'sourceProject', 'isMock'], {
    message: 'Message',
    messageChannel: 'MessageChannel',
    photo: 'Photo',
    receiver: 'Account',
    sender: 'Account',
  }),
  MessageChannel: type('Item', ['encrypted', 'name', 'topic', 'service', 'isMock', 'sourceProject'], {
    photo: 'Photo',
    receiver: 'Account',
  }),
  Model: type('Item', ['name', 'version']),
  NavigationItem: type('Item', ['icon', 'itemType', 'sequence', 'sessionName', 'title']),
  Network: type('Item', ['name'], { website: 'Website' }),
  Note: type('WrittenWork', ['starred'], { label: 'Label' }),
  OauthFlow: type('Item', ['accessToken', 'accessTokenSecret', 'refreshToken', 'service']),
  Person: type(
    'Item',
    [
      'addressBookId',
      'birthDate',
      'deathDate',
      'displayName',
      'email',
      'firstName',
      'gender',
      'lastName',
      'role',
      'sexualOrientation',
      'starred',
    ],
    {
      label: 'Label',
      account: 'Account',
      address: 'Address',
      birthPlace: 'Location',
      cryptoKey: 'CryptoKey',
      deathPlace: 'Location',
      diet: 'Diet',
      hasPhoneNumber: 'PhoneNumber',
      me: 'Person',
      medicalCondition: 'MedicalCondition',
      mergedFrom: 'Person',
      profilePicture: 'Photo',
      relationship: 'Relationship',
      website: 'Website',
    },
  ),
  PhoneNumber: type('Item', ['phoneNumber']),
  Photo: type('Item', ['name', 'caption', 'exifData', 'height', 'width', 'channels', 'encoding', 'mode', 'ocrText'], {
    changelog: 'AuditItem',
    thumbnail: 'File',
    file: 'File',
  }),
  Plugin: type(
    'Item',
    [
      'bundleImage',
      'containerImage',
      'configJson',
      'config',
      'dataType',
      'icon',
      'pluginDescription',
      'name',
      'pluginModule',
      'pluginName',
      'pluginType',
      'gitProjectId',
    ],
    { view: 'CVUStoredDefinition', templateSettings: 'TemplateSettings', project: 'Project', run: 'PluginRun' },
  ),
  PluginRun: type(
    'Item',
    [
      'authUrl',
      'containerImage',
      'config',
      'pluginModule',
      'pluginName',
      'progress',
      'status',
      'targetItemId',
      'error',
      'containerId',
      'webserverPort',
    ],
    { plugin: 'Plugin', view: 'CVUStoredDefinition', account: 'Account', trigger: 'Trigger' },
  ),
  Post: type('Item', ['message', 'postDate', 'postType', 'isMock', 'sourceProject'], {
    author: 'Account',
    comment: 'Post',
    parent: 'Post',
    photo: 'Photo',
  }),
  Project: type('Item', ['name', 'gitlabUrl', 'dataSource'], { dataset: 'Dataset' }),
  RSSEntry: type('Item', [
    'title',
    'link',
    'thumbnail',
    'published',
    'updated',
    'summary',
    'summarySource',
    'fullText',
    'author',
    'coarseLabel',
    'fineLabel',
    'relevance',
    'rssFeedId',
    'isIndexed',
  ]),
  RSSFeed: type(
    'Item',
    ['link', 'href', 'title', 'description', 'published', 'updated', 'importIsActive', 'thumbnail'],
    { entry: 'RSSEntry', photo: 'RSSEntry' },
  ),
  RSSFeedSummary: type('Item', ['category', 'content']),
  Relationship: type('Item', ['label', 'proximityValue'], { relationship: 'Person' }),
  SuggestedMerge: type('Item', ['score', 'task'], { mergeFrom: 'Person' }),
  TemplateSettings: type('Item', ['templateName', 'templateId', 'dataSource'], { labelOption: 'LabelOption' }),
  TextClassification: type('LabellingDataType', []),
  Translation: type('Item', ['value', 'translatedProperty', 'srcLang', 'tgtLang']),
  Trigger: type(
    'Item',
    ['action', 'filterCreatedAfter', 'filterCreatedAfterPropertyName', 'pluginRunId', 'triggerOn'],
    {
      trigger: 'PluginRun',
    },
  ),
  VoteAction: type('Item', ['dateExecuted']),
  Wallet: type('Item', ['name'], { picture: 'Photo' }),
  Website: type('Item', ['itemType', 'url']),
  WrittenWork: type('CreativeWork', []),
};

/** A central type and its ancestors, the type itself first; empty for a type not in the central schema. */
function lineage(typeName: string): CentralType[] {
  const chain: CentralType[] = [];
  for (let name: string | null = typeName; name !== null; ) {
    const central: CentralType | undefined = Object.hasOwn(CENTRAL_TYPES, name) ? CENTRAL_TYPES[name] : undefined;
    if (!central) break;
    chain.push(central);
    name = central.extends;
  }
  return chain;
}

/** Every property of a central type, inherited ones included, with its central value type. */
export function centralPropertiesOf(typeName: string): Map<string, ValueType> {
  const names = lineage(typeName).flatMap((central) => central.properties);
  return new Map(names.map((name) => [name, CENTRAL_PROPERTIES.get(name) as ValueType]));
}

/** Every edge of a central type, inherited ones included; a type's own edge overrides its parent's. */
export function centralEdgesOf(typeName: string): Map<string, readonly string[]> {
  const edges = new Map<string, readonly string[]>();
  for (const central of lineage(typeName).reverse())
    for (const [name, targets] of Object.entries(central.edges)) edges.set(name, targets);
  return edges;
}
